-- The keys of one session's history, in the order of keyList() in src/redis/keys.ts.
local messagesKey, infoKey, stateKey, appliedKey = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
