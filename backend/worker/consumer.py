"""One queue's consumer: Huey's own consumer with process workers, each running one task at a time."""

from __future__ import annotations

import logging
import signal

from huey.consumer import Consumer

from backend.services.tasks import queue, runner
from backend.settings import Settings
from backend.worker.process import die_with_parent, lower_priority

log = logging.getLogger("slmgen.worker")

# Queues whose work is CPU-bound on the same machine as the server: their processes run at a lower priority.
NICE_QUEUES = frozenset({"analysis", "training", "generation"})


def run_consumer(settings: Settings, queue_name: str, workers: int) -> None:
    die_with_parent(signal.SIGTERM)  # the supervisor went away: stop as on a shutdown
    queue.forget_hueys()
    runner.forget_databases()
    huey, _ = queue.huey_for(settings, queue_name)

    @huey.on_startup()  # type: ignore[untyped-decorator]
    def prepare_worker_process() -> None:
        die_with_parent(signal.SIGKILL)  # a consumer that dies takes its workers with it
        runner.may_kill_process = True  # a task that ignores its stop may be ended by killing this process
        if queue_name in NICE_QUEUES:
            lower_priority()

    poll = max(0.01, settings.task_poll_seconds)
    consumer = Consumer(huey, workers=workers, worker_type="process", periodic=False, initial_delay=poll,
                        backoff=1.5, max_delay=max(poll, 0.1), check_worker_health=True, health_check_interval=1,
                        graceful_signal="INT")
    log.info("consumer for queue %s: %d worker process(es)", queue_name, workers)
    consumer.run()
