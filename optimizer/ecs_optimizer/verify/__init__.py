"""The post-run verify step (``ecs-optimizer verify --journal RUN``): did the services a run
changed stay healthy?

* :mod:`.windows`: the window after the run and the one of the same length before it;
* :mod:`.signals`: the metric series of every service, read in one batched plan;
* :mod:`..live.alarm_history` (a reader of AWS): the alarms that went to ALARM, in one listing;
* :mod:`.verdicts`: the thresholds, each signal's judgement and each service's verdict;
* :mod:`.run`: the whole step, and undoing the regressed services through the journal;
* :mod:`.report`: the report in every format (the JSON one versioned with a schema).
"""
