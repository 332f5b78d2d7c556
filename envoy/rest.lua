-- fnplane's touches on REST calls around Envoy's gRPC-JSON transcoder.
--
-- On the way in, a call that is not native gRPC is marked as REST in the stream's dynamic
-- metadata, before the transcoder turns it into gRPC; Envoy's own error replies are written
-- as JSON for marked calls only (see local_reply_config), so gRPC clients keep getting
-- gRPC statuses.
--
-- On the way out, a stream of JSON objects (one per line) is labelled as such, on routes that
-- name their stream_content_type in their metadata; the body passes untouched, as it comes.
--
-- And a list answer becomes the bare JSON array REST clients expect. The
-- transcoder writes a list RPC's answer as an object with one field, such as
-- {"functions":[...]}; routes that want the array alone name that field in their metadata
-- (bare_array_field), and this filter cuts the object down to the field's value. Errors and
-- any answer that is not that exact object pass through unchanged.

-- A REST call's headers travel on as gRPC metadata, and gRPC refuses a whole call over one
-- header it cannot carry: a name outside its key alphabet, a gRPC transport header such as
-- grpc-timeout with a value it cannot parse, or a "-bin" header that is not base64. Such
-- headers mean nothing to fnplane, so they are dropped from REST calls rather than turning
-- the call into a server error.
local function carried_by_grpc(name)
  if name:sub(1, 1) == ":" then
    return true
  end
  if name:find("[^0-9a-z_.-]") then
    return false
  end
  return name:sub(1, 5) ~= "grpc-" and name:sub(-4) ~= "-bin"
end

function envoy_on_request(request_handle)
  local headers = request_handle:headers()
  local content_type = headers:get("content-type") or ""
  if content_type:sub(1, 16) == "application/grpc" then
    return
  end
  request_handle:streamInfo():dynamicMetadata():set("fnplane", "rest", "true")

  local dropped = {}
  for name, _ in pairs(headers) do
    if not carried_by_grpc(name) then
      dropped[#dropped + 1] = name
    end
  end
  for _, name in ipairs(dropped) do
    headers:remove(name)
  end
end

function envoy_on_response(response_handle)
  if response_handle:headers():get(":status") ~= "200" then
    return
  end
  local stream_type = response_handle:metadata():get("stream_content_type")
  if stream_type ~= nil then
    response_handle:headers():replace("content-type", stream_type)
    return
  end
  local field = response_handle:metadata():get("bare_array_field")
  if field == nil then
    return
  end

  local body = response_handle:body()
  if body == nil then
    return
  end
  local text = body:getBytes(0, body:length())
  local prefix = '{"' .. field .. '":'
  if text:sub(1, #prefix) ~= prefix then
    return
  end
  local array = text:sub(#prefix + 1):match("^%s*(%[.*%])%s*}%s*$")
  if array == nil then
    return
  end

  body:setBytes(array)
  response_handle:headers():replace("content-length", tostring(#array))
end
