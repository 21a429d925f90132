# MiniStack on a socket bound first, under a watchdog, for `emulator::ministack::MiniStack` (see `LAUNCHER`).
import os, signal, socket, sys, threading
signal.signal(signal.SIGINT, signal.SIG_IGN)

def _exit(*_):
    sys.stderr.flush()
    # A temporary data directory goes too, even when the parent was killed.
    if os.environ.get('MINISTACK_REMOVE_ON_EXIT'):
        import shutil
        shutil.rmtree(os.environ['MINISTACK_REMOVE_ON_EXIT'], ignore_errors=True)
    # The functions MiniStack runs are its children, in this process group:
    # none may outlive it.
    if os.getpgrp() == os.getpid():
        os.killpg(os.getpgrp(), signal.SIGKILL)
    os._exit(0)

def _watch():
    sys.stdin.read()
    _exit()

threading.Thread(target=_watch, daemon=True).start()
signal.signal(signal.SIGTERM, _exit)

sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
sock.bind(('127.0.0.1', int(sys.argv[1])))
sock.listen(1024)
port = sock.getsockname()[1]
# MiniStack reads these when imported.
os.environ['GATEWAY_PORT'] = str(port)
os.environ['AWS_ENDPOINT_URL'] = 'http://127.0.0.1:%d' % port

import asyncio
from hypercorn.asyncio import serve
from hypercorn.config import Config
from ministack.app import app

config = Config()
config.bind = ['fd://%d' % sock.fileno()]
config.keep_alive_timeout = 75

async def _forever():
    # A shutdown trigger of our own keeps hypercorn from installing signal
    # handlers over the ones above.
    await asyncio.get_running_loop().create_future()

sys.stdout.write('PORT %d\n' % port)
sys.stdout.flush()
asyncio.run(serve(app, config, shutdown_trigger=_forever))
