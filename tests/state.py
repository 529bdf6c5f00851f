"""State shared by fixtures and tests. pytest imports ``conftest.py`` as ``conftest`` while
tests import ``tests.conftest``: two module objects, so shared state must live here."""

#: The running Qoder and r4 emulators of this test worker (filled by conftest.other_vaults).
OTHER_BOXES: dict = {}
