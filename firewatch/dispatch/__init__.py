"""Dispatch: assign fire points to the people responsible for them, track verdicts, notify.

The package is split so that importing it stays light (settings are imported by
:mod:`firewatch.config`):

- :mod:`~firewatch.dispatch.settings`: the ``review`` and ``notify`` settings models;
- :mod:`~firewatch.dispatch.codes`: grid codes, levels and scope (code-prefix) tests;
- :mod:`~firewatch.dispatch.models`: users, assignments, verdicts, photos, audit log, outbox;
- :mod:`~firewatch.dispatch.assign`: assignment, deadlines, reminders, escalation;
- :mod:`~firewatch.dispatch.notify`: e-mail (SMTP) and chat-robot webhooks with an outbox;
- :mod:`~firewatch.dispatch.store`: loaders for maps, bulletins and the classifier;
- :mod:`~firewatch.dispatch.users`: accounts and password hashing;
- :mod:`~firewatch.dispatch.watch`: the scheduled daily run.
"""
