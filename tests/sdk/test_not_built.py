"""What this version does not have answers 501 with the error body, not a misleading 404."""

from __future__ import annotations

import parallel
import pytest

from support import assert_error


def test_task_group_calls_answer_501(server):
    client = server.client()
    with pytest.raises(parallel.APIStatusError) as err:
        client.task_group.create()
    assert_error(err.value, 501)
    assert "Task Group API" in err.value.response.json()["error"]["message"]
    for path in ["/v1/tasks/groups/tgrp_x", "/v1beta/tasks/groups/tgrp_x/runs", "/v1/tasks/groups/tgrp_x/events"]:
        r = server.http().get(path)
        assert_error(r, 501)
