"""The scheduler's task, run by `manage.py procrastinate worker` (make run starts one).

Procrastinate defers the periodic task once per minute however many workers run (its
procrastinate_periodic_defers table is unique per minute), and a queueing lock keeps at most one
pass waiting. A pass after a restart picks up whatever the downtime left due: what is due and what
was sent are rows (analytics.scheduling).
"""

from procrastinate.contrib.django import app

from analytics import scheduling


@app.periodic(cron="* * * * *", periodic_id="scheduler-pass")
@app.task(queueing_lock="scheduler-pass", pass_context=False)
def scheduler_pass(timestamp: int) -> None:
    scheduling.run()
