"""The repository's openapi.json is the shared contract, unchanged."""
import json
import os

import pytest

from contract import DEFAULT_PATH
from contract import SHARED_PATH


@pytest.mark.skipif(not os.path.exists(SHARED_PATH),
                    reason="no shared/ beside this clone")
def test_repository_copy_matches_shared_contract():
    with open(DEFAULT_PATH) as ours, open(SHARED_PATH) as shared:
        assert json.load(ours) == json.load(shared)
