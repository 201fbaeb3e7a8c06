"""The live web observer: a page served by the ``websocket`` sink.

- :mod:`~townlet.telemetry.observer.assets`: the page's static files (plain ES
  modules and a canvas, shipped as package data) and their HTTP answers;
- :mod:`~townlet.telemetry.observer.controls`: what a page may ask of a run
  or replay (speed, console requests, policy inspection, seeking);
- :mod:`~townlet.telemetry.observer.pacing`: real-time pacing (pause, 1×,
  10×, 100×, max);
- :mod:`~townlet.telemetry.observer.live`: ``townlet run --observe``;
- :mod:`~townlet.telemetry.observer.replay`: ``townlet telemetry replay --observe``.

See docs/observer.md.
"""
