"""A plugin whose import fails, as a real missing dependency would."""

import townlet_dependency_that_is_not_installed  # noqa: F401

class BrokenAlgo:
    pass
