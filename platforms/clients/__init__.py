"""Platform clients: one module per platform over a shared base class.

The registry of ids → classes is `platforms.registry.CLIENTS`.
"""
