"""Keep the Pulumi stacks' config in step with what ``optimize`` applied (no drift).

The optimizer changes live resources that Pulumi manages, so without this the next ``pulumi
up`` of the compute layer would put the old sizes back. After a run, every value it applied
is recorded in the layers' own config keys:

* compute: ``compute:services.<svc>.sizes.<tier>.{cpu,memory}``, ``.desiredCount``,
  ``.minCapacity``, ``.maxCapacity`` and the layer-wide ``compute:spotShare``; with a size,
  ``.rightsizedFrom.<tier>.{cpu,memory}``: the size before rightsizing, which the compute
  stack exports as ``baselineCpu``/``baselineMemory`` so the ``fixed`` policy halves from it
  and not from the size it already halved. It is written only when the file does not set it
  yet, so it keeps the ORIGINAL size across runs (``export-config`` prints it every time: a
  stack that already sets it should keep its value);
* registry: the layer-wide ``registry:keepImages``;
* observability: ``observability:thresholds.<svc>.{cpuHigh,memoryHigh}`` (the running-tasks-low
  threshold follows compute's ``minCapacity`` by itself; unhealthy-hosts and 5xx do not
  depend on task size).

Two ways out: ``optimize --write-config FILE`` edits stack files (``Pulumi.<stack>.yaml``)
with a round-trip YAML parser, so comments, key order, quoting and unrelated keys survive,
and journals each file's text before and after, so ``rollback`` puts the file back byte for
byte; ``export-config`` prints the same keys as ``pulumi config set --path`` commands for
config kept elsewhere.

Per-tier counts: the catalog takes ``desiredCount`` (and min/max) as one number for both tiers
or as ``{dev, prod}``. Only the run's tier is written: an absent value becomes ``{<tier>: n}``
(the other tier keeps the program's default), a map gets its ``<tier>`` entry, and a plain
number ``m`` that differs becomes ``{dev: .., prod: ..}`` with ``m`` kept for the other tier.

Layer-wide keys (Spot share, ECR keep count) are written only when every service the run
changed agrees on the value; the report names services outside the run that the key will
move on the next ``pulumi up``.

The package's modules, in the order a write-back runs:

* :mod:`.keys`: the config keys, the layers written and the value ranges;
* :mod:`.applied`: what a run applied, from its results or from a journal;
* :mod:`.setting`: one key to write, and the helpers the levers build theirs with;
* :mod:`.plan`: which keys to write, with which values (each lever names its own);
* :mod:`.stack_file`: reading and checking stack files;
* :mod:`.yaml_edit`: editing a stack file's config in place;
* :mod:`.files`: atomic writes, the report, and restoring files on rollback;
* :mod:`.export`: the same keys as ``pulumi config set --path`` commands;
* :mod:`.pulumi_first` and :mod:`.pull_request`: ``optimize --via-pulumi``, which writes the keys
  of a plan without changing AWS, what the next ``pulumi up`` is expected to change, and the
  pull-request comment (docs/pulumi-first.md).
"""
