"""The suite-wide blockbuster guard is live: blocking product code inside the loop fails."""
import pytest
from blockbuster import BlockingError

from state.db import migrate_sync


async def test_when_product_code_blocks_the_loop_then_the_guard_raises(pg_dsn):
    with pytest.raises(BlockingError):
        migrate_sync(pg_dsn)  # the sync variant, called where `await migrate()` belongs
