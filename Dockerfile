# coachbot: one image for every channel; settings come from COACHBOT_* variables.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    COACHBOT_DATABASE_URL=sqlite:////data/coachbot.db \
    COACHBOT_HTTP_HOST=0.0.0.0

WORKDIR /app
COPY pyproject.toml README.md ./
COPY bot ./bot
COPY conversations ./conversations
COPY scheduler ./scheduler
COPY services ./services
COPY storage ./storage
RUN pip install --no-cache-dir . \
    && useradd --create-home --uid 10001 coachbot \
    && mkdir /data && chown coachbot /data

USER 10001
VOLUME ["/data"]
EXPOSE 3000
# `docker stop` sends SIGTERM and, 10 s later by default, SIGKILL. coachbot run stops
# fetching, finishes the updates in hand, hands its outbox leases back and exits 0 well
# inside those 10 s (it gives up by itself at 9 s); keep --time / stop_grace_period at 10 s
# or more.
STOPSIGNAL SIGTERM
CMD ["coachbot", "run"]
