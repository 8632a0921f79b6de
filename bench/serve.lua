-- wrk script for bench/serve: POSTs one custom-channel message per request,
-- each with its own webhook-id (thread number and count), so that every
-- request is a new delivery, accepted and stored; done() prints the figures
-- as one JSON line.
local counter = 0
tid = 0  -- set per thread by setup(), a global so that thread:set reaches it

local threads = {}

function setup(thread)
	thread:set("tid", #threads)
	table.insert(threads, thread)
end

function init(args)
	counter = 0
end

request = function()
	counter = counter + 1
	local id = "bench-" .. tid .. "-" .. counter
	local body = '{"case":{"user_custom_id":"u' .. (counter % 1000) ..
		'","content":"hello from the bench, message ' .. counter .. '"}}'
	return wrk.format("POST", "/hooks/app", {
		["Content-Type"] = "application/json",
		["webhook-id"] = id,
	}, body)
end

done = function(summary, latency, requests)
	local ok = summary.requests - summary.errors.status - summary.errors.connect -
		summary.errors.read - summary.errors.write - summary.errors.timeout
	io.write(string.format('{"requests":%d,"ok":%d,"non2xx":%d,"socket_errors":%d,' ..
		'"seconds":%.3f,"p50_ms":%.3f,"p99_ms":%.3f,"p999_ms":%.3f,"max_ms":%.3f}\n',
		summary.requests, ok, summary.errors.status,
		summary.errors.connect + summary.errors.read + summary.errors.write + summary.errors.timeout,
		summary.duration / 1e6, latency:percentile(50) / 1000, latency:percentile(99) / 1000,
		latency:percentile(99.9) / 1000, latency.max / 1000))
end
