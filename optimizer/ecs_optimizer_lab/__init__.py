"""ecs-optimizer's lab: everything that runs the optimizer without AWS.

A local AWS emulator (moto's server with the fidelity fixes the optimizer needs, usable as a
server or in-process), seeding it with the fleet an offline plan declares, synthetic
utilization traces and ECR images, reading back the live state, and the demo. Installed with
the ``[lab]`` extra (``pip install './optimizer[lab]'``). The optimizer itself
(:mod:`ecs_optimizer`) never imports this package; a test holds it to that.
"""
