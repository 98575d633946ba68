from slack_bolt.async_app import AsyncApp

from handlers.events import app_home


def register(app: AsyncApp) -> None:
    app_home.register(app)
