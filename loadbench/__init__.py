"""The load benchmark of issue 5: `manage.py loadbench --help`.

A scenario goes: `population` creates the stream and the posting users (ORM),
`gateways` starts the daphne processes (ours, or the tutorial-shaped `baseline`),
`clients` opens the viewer and poster sockets in several processes, `runner` drives
the phases and gathers the figures, and `report` prints them, writes JSON and draws
the plot in docs/.
"""
