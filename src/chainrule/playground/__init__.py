"""The playground: train small networks in the browser, computed by chainrule.

Run ``chainrule playground`` (or ``python -m chainrule.playground``) and open the page it
prints. The server (`server.create_app`, `server.serve`) needs the ``playground`` extra:
``pip install 'chainrule[playground]'``. The parts without web code (`session.Session`,
`messages`, `datasets`, `features`, `network`, `export`) need only pydantic.
"""
