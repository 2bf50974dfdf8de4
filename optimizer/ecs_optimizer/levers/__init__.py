"""The optimizer's levers, one module each (see :mod:`.base` for what a lever declares and
:mod:`.registry` for their order)."""
