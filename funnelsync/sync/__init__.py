"""The run: pull, evaluate, push, alerts, lead operations, identity; the job puts them in order."""
