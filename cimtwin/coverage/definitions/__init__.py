"""One module per coverage definition, each with its own keyword-only options.

:func:`cimtwin.coverage.coverage_ratio` picks the module by ``definition`` and passes it the
options the user gave; each module says what is covered and leaves the zone accounting to
:mod:`cimtwin.coverage.accounting`.
"""

from cimtwin.coverage.definitions import network, presence, radio, radius, viewshed

# definition name -> (module, the function computing it)
REGISTRY = {
    "radius": radius.compute,
    "presence": presence.presence,
    "thiessen": presence.thiessen,
    "viewshed": viewshed.compute,
    "rsrp": radio.rsrp,
    "mcl": radio.mcl,
    "network": network.compute,
}
# Definitions that count target features rather than measure area, length or residents.
FEATURE_DEFINITIONS = ("presence", "network")

__all__ = ["REGISTRY", "FEATURE_DEFINITIONS"]
