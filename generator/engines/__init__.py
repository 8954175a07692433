"""Image engines behind ``generator.engine.Engine``: ``physics`` (CPU) and ``braing3n`` (neural).

Engines are looked up by name with ``generator.engine.get_engine``; modules here are imported
lazily so that the neural stack stays optional.
"""
