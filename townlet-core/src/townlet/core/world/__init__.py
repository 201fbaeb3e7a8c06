"""The town simulation: state arrays and the systems that update them each tick.

Import :class:`townlet.core.world.world.World` for the simulation itself; this
package initialiser stays empty so config models can import settings from it
without cycles.
"""
