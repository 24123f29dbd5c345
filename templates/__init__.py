# Shipped inside the package as bot.templates (see pyproject.toml); copy this folder to customise.
