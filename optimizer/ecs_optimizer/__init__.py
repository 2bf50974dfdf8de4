"""ecs-optimizer: tune a deployed ECS Fargate environment for cost and report the savings."""

__version__ = "0.1.0"
