-- wrk script for scripts/bench: GET ready at a steady ~200 requests/s. Each of wrk's connections
-- pauses 50 ms between requests, so 10 connections make about 200 requests a second; the
-- latencies wrk reports are then those of a loaded but not saturated server.
wrk.headers["Authorization"] = "Bearer " .. os.getenv("SDDSH_BENCH_TOKEN")

function delay()
  return 50
end

function done(summary, latency, requests)
  io.write(string.format("%d %.3f %.3f %.1f\n", summary.requests, latency:percentile(50) / 1000,
                         latency:percentile(99) / 1000, summary.requests / (summary.duration / 1e6)))
end
