"""The reference: the same stock pages the way a Python user would write them.

Flask + Jinja2 + sqlite3 on the same database file, run under gunicorn with 2 workers by
bench/bench.py. One connection per request, as the Flask tutorial does.
"""
import os
import sqlite3

from flask import Flask, g, render_template

app = Flask(__name__)
DATABASE = os.environ.get("STOCK_DB", "stock.db")
COLUMNS = "info.code, info.short, info.chg, info.turnover, info.price, info.highs, info.time"


def db():
    if "db" not in g:
        g.db = sqlite3.connect(DATABASE)
        g.db.row_factory = sqlite3.Row
    return g.db


@app.teardown_appcontext
def close_db(_exc):
    conn = g.pop("db", None)
    if conn is not None:
        conn.close()


@app.route("/")
@app.route("/index.html")
def index():
    stocks = db().execute(f"SELECT {COLUMNS} FROM info ORDER BY info.id").fetchall()
    return render_template("index.html", stocks=stocks)


@app.route("/center.html")
def center():
    stocks = db().execute(
        f"SELECT {COLUMNS}, focus.note_info AS note FROM focus "
        "JOIN info ON info.id = focus.info_id ORDER BY focus.id"
    ).fetchall()
    return render_template("center.html", stocks=stocks)
