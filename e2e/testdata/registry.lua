-- registry.lua: the end-to-end tests' stand-in for a registry client inside
-- nginx, written for safewrr.
--
-- On every request (access phase) it reads the registry file, a JSON object
-- {"host:port": weight, ...} decoded with lua-cjson as a registry client
-- would decode it (so the string "0" stays a string), and when the text has
-- changed it rebuilds the balancer with the model's new(), which is where
-- resty.roundrobin computes the gcd of the weights. The balancer phase asks
-- find() for a node and hands it to ngx.balancer.
local cjson = require "cjson.safe"
local ngx_balancer = require "ngx.balancer"

local _M = {}

local path        -- the registry file
local roundrobin  -- the balancer module (one of the team's models)
local last_text   -- the text the current balancer was built from
local rr          -- the current balancer

-- init is called from init_by_lua with the registry file and the name of
-- the module that implements resty.roundrobin's new() and find().
function _M.init(registry_path, module)
    path = registry_path
    roundrobin = require(module)
end

function _M.refresh()
    local f, err = io.open(path, "rb")
    if not f then
        ngx.log(ngx.ERR, "registry: ", err)
        return
    end
    local text = f:read("*a")
    f:close()
    if text == last_text then
        return
    end
    local nodes = cjson.decode(text)
    if type(nodes) ~= "table" then
        ngx.log(ngx.ERR, "registry: not a JSON object, keeping the previous nodes")
        last_text = text
        return
    end
    -- resty.roundrobin:new computes the gcd of the weights here.
    rr = roundrobin:new(nodes)
    last_text = text
end

function _M.balance()
    if not rr then
        ngx.log(ngx.ERR, "registry: no balancer yet")
        return ngx.exit(502)
    end
    local id = rr:find()
    local host, port = string.match(tostring(id), "^(.*):(%d+)$")
    if not host then
        ngx.log(ngx.ERR, "registry: bad node id ", tostring(id))
        return ngx.exit(502)
    end
    local ok, err = ngx_balancer.set_current_peer(host, tonumber(port))
    if not ok then
        ngx.log(ngx.ERR, "registry: set_current_peer: ", err)
        return ngx.exit(502)
    end
end

return _M
