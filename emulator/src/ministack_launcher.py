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

def _virtual_hosted_template_urls():
    # An emulator gap filled: MiniStack reads a TemplateURL's bucket from its
    # path, so the virtual-hosted form AWS documents
    # (`https://<bucket>.s3.<region>.amazonaws.com/<key>`, what `deploy` sends
    # for a template over 51,200 bytes) names bucket `<first key segment>`.
    # Rewritten to the path form it reads, the same object.
    from urllib.parse import urlparse
    from ministack.services.cloudformation import helpers
    original = helpers._resolve_document
    def resolve(params, body_key, url_key, label):
        url = helpers._p(params, url_key)
        host = urlparse(url).netloc if url else ''
        if '.s3.' in host:
            bucket = host.split('.s3.', 1)[0]
            params = dict(params)
            params[url_key] = ['https://s3.amazonaws.com/%s%s' % (bucket, urlparse(url).path)]
        return original(params, body_key, url_key, label)
    helpers._resolve_document = resolve

_virtual_hosted_template_urls()

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
