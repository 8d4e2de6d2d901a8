# One image for producer, processor and web (choose with the command).
FROM denoland/deno:2.9.6

WORKDIR /app

# Dependencies first, so that code changes do not re-download them.
COPY deno.json deno.lock ./
COPY shared/deno.json shared/deno.json
COPY producer/deno.json producer/deno.json
COPY processor/deno.json processor/deno.json
COPY web/deno.json web/deno.json
RUN deno install --frozen

COPY shared/ shared/
COPY producer/ producer/
COPY processor/ processor/
COPY web/ web/
RUN deno cache producer/main.ts processor/main.ts web/main.ts \
  && chown -R deno:deno /app

USER deno
ENV LOG_FORMAT=json
CMD ["deno", "run", "-A", "processor/main.ts"]
