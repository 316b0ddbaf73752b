"""Not collected by itself (no test_ prefix): tests/test_children_die_with_parent.py runs it in a
pytest of its own and kills that pytest with SIGKILL while the embedded servers run."""
import time


def test_sleep_while_the_servers_run(pg_server, redis_server):
    print("servers ready", flush=True)
    time.sleep(100)
