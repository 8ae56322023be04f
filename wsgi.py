"""WSGI entry point: `gunicorn wsgi:app`."""

from shopper import create_app

app = create_app()
