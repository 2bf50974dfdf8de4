"""The ``ecs-optimizer`` click commands and their options."""
