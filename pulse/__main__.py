from pulse.cli import app

app(prog_name="pulse")
