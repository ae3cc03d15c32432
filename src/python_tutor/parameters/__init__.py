"""Typed models of the parameters, one module per top-level block of ``conf/base``.

``validation`` checks a run's resolved parameters against them when its context is created
(``settings.HOOKS``). These modules import nothing of the pipelines, so the check costs no
pipeline import; pipelines import their allowed values from here instead.
"""
