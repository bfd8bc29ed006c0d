"""Batch jobs run off the page server's event loop: one thread of their own with its
own event loop. ``BatchJobs.run`` writes its two CSV files and ``state.json`` with small
synchronous writes; in the server's loop those would stall every page while a large
file is answered, so the jobs get a loop where that costs nobody a page."""

from __future__ import annotations

import asyncio
import threading
from concurrent.futures import Future

from jukinet.agency.batch_job import BatchJobs, JobStatus


class JobRunner:
    def __init__(self, jobs: BatchJobs) -> None:
        self.jobs = jobs
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self.loop.run_forever, name="batch-jobs", daemon=True)
        self.thread.start()

    def start(self, job_id: str) -> Future[JobStatus]:
        """Run the queued job ``job_id`` in the jobs' thread; its future (never raises
        for what a node or a line can do: ``BatchJobs.run``)."""
        return asyncio.run_coroutine_threadsafe(self.jobs.run(job_id), self.loop)

    def stop(self) -> None:
        if self.loop.is_closed():
            return
        self.loop.call_soon_threadsafe(self.loop.stop)
        self.thread.join(timeout=5)
        if not self.thread.is_alive():
            self.loop.close()
