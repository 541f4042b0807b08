"""panoramisk against astemu: login, ping, a command, an originate with its
events, DB actions. Usage: panoramisk_check.py PORT. Exit 0 when all pass."""
import asyncio
import sys

from panoramisk import Manager


async def main(port):
    events = []
    m = Manager(host="127.0.0.1", port=port, username="admin", secret="secret",
                ping_delay=0)
    m.register_event("*", lambda manager, msg: events.append(msg.event))
    await m.connect()
    r = await m.send_action({"Action": "Ping"})
    assert r.response == "Success" and r.ping == "Pong", r
    r = await m.send_command("core show version")
    out = r.output if isinstance(r.output, list) else [r.output]
    assert any("Asterisk 22" in line for line in out), r
    r = await m.send_action({"Action": "DBPut", "Family": "peer", "Key": "k", "Val": "v 1"})
    assert r.message == "Updated database successfully", r
    r = await m.send_action({"Action": "DBGet", "Family": "peer", "Key": "k"})
    vals = [x.val for x in r if x.event == "DBGetResponse"]
    assert vals == ["v 1"], r
    r = await m.send_action({"Action": "DBDel", "Family": "peer", "Key": "k"})
    assert r.message == "Key deleted successfully", r
    r = await m.send_action({"Action": "Originate", "Channel": "Local/100@test",
                             "Application": "Wait", "Data": "0.2", "Async": "true"})
    resp = [x for x in r if x.event == "OriginateResponse"]
    assert resp and resp[0].response == "Success", r
    for _ in range(100):
        if "Hangup" in events:
            break
        await asyncio.sleep(0.05)
    for name in ("Newchannel", "DialBegin", "DialEnd", "Hangup"):
        assert name in events, (name, events)
    m.close()
    print("panoramisk: login, ping, command, DB, originate+events passed")


asyncio.run(main(int(sys.argv[1])))
