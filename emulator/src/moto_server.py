# moto's server under a watchdog, for `emulator::MotoServer` (see `WATCHDOG` in lib.rs).
import os, sys, threading, signal
signal.signal(signal.SIGINT, signal.SIG_IGN)
STATE = os.environ.get('MOTO_DEV_STATE')

def _backends():
    from moto.dynamodb.models import dynamodb_backends
    from moto.kms.models import kms_backends
    return {'dynamodb': dynamodb_backends, 'kms': kms_backends}

def _load_private_key(der):
    from cryptography.hazmat.primitives import serialization as ser
    return ser.load_der_private_key(der, None)

def _pickling():
    # moto keeps a private key object on every KMS key; pickle it as DER.
    import copyreg
    from cryptography.hazmat.primitives import serialization as ser
    from cryptography.hazmat.bindings._rust import openssl as o
    def red(k):
        der = k.private_bytes(ser.Encoding.DER, ser.PrivateFormat.PKCS8, ser.NoEncryption())
        return (_load_private_key, (der,))
    for t in (o.rsa.RSAPrivateKey, o.ec.ECPrivateKey):
        copyreg.pickle(t, red)

def _dump():
    import pickle, moto
    _pickling()
    for _ in range(5):
        try:
            snap = {}
            for name, bd in _backends().items():
                for acct in list(bd.keys()):
                    for region in list(bd[acct].keys()):
                        snap[(name, acct, region)] = bd[acct][region]
            data = pickle.dumps({'moto': moto.__version__, 'backends': snap})
            break
        except RuntimeError:
            continue  # a dict changed size under us: try again
    else:
        sys.stderr.write('moto state not saved\n')
        return
    with open(STATE + '.tmp', 'wb') as f:
        f.write(data)
    os.replace(STATE + '.tmp', STATE)
    sys.stderr.write('moto state saved to ' + STATE + '\n')

def _load():
    import pickle, moto
    _pickling()
    try:
        with open(STATE, 'rb') as f:
            data = pickle.load(f)
        if data.get('moto') != moto.__version__:
            raise ValueError('saved by moto ' + str(data.get('moto')))
        bds = _backends()
        for (name, acct, region), be in data['backends'].items():
            bds[name][acct][region] = be
        sys.stderr.write('moto state loaded from ' + STATE + '\n')
    except Exception as e:
        sys.stderr.write('moto state in ' + STATE + ' not loaded (' + repr(e) + '); starting empty\n')
        os.replace(STATE, STATE + '.bad')

def _exit(*_):
    try:
        if STATE:
            _dump()
    except BaseException as e:
        sys.stderr.write('moto state not saved: ' + repr(e) + '\n')
    finally:
        sys.stderr.flush()
        os._exit(0)

def _watch():
    sys.stdin.read()
    _exit()

def _cloudformation_versions_and_aliases():
    # An emulator gap filled over moto's own Lambda backend: its
    # CloudFormation has no AWS::Lambda::Alias (a Ref to one is null, which
    # breaks the permission naming it), and its AWS::Lambda::Version has no
    # Ref or GetAtt. Still not modelled: moto updates a resource only when
    # its own JSON or a parameter it Refs changed, so neither a version
    # (whose description is a Fn::Sub) nor its alias moves on a code change.
    from moto.core.common_models import CloudFormationModel
    from moto.awslambda.models import lambda_backends

    class Version(CloudFormationModel):
        __module__ = 'moto.awslambda.cloudformation'  # moto's metaclass reads the service from it
        def __init__(self, arn, version):
            self.arn, self.version = arn, version
        @staticmethod
        def cloudformation_type():
            return 'AWS::Lambda::Version'
        @property
        def physical_resource_id(self):
            return self.arn
        @classmethod
        def has_cfn_attr(cls, attr):
            return attr in ('Version', 'FunctionArn')
        def get_cfn_attribute(self, attr):
            return self.version if attr == 'Version' else self.arn.rsplit(':', 1)[0]
        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
            p = cloudformation_json['Properties']
            fn = lambda_backends[account_id][region_name].publish_version(p['FunctionName'], p.get('Description', ''))
            return cls(fn.function_arn, str(fn.version))
        @classmethod
        def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
            return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json, account_id, region_name)
        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
            pass  # a version goes with its function

    class Alias(CloudFormationModel):
        __module__ = 'moto.awslambda.cloudformation'
        def __init__(self, arn):
            self.arn = arn
        @staticmethod
        def cloudformation_type():
            return 'AWS::Lambda::Alias'
        @property
        def physical_resource_id(self):
            return self.arn
        @classmethod
        def has_cfn_attr(cls, attr):
            return attr == 'AliasArn'
        def get_cfn_attribute(self, attr):
            return self.arn
        @classmethod
        def create_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name, **kwargs):
            p = cloudformation_json['Properties']
            a = lambda_backends[account_id][region_name].create_alias(
                p['Name'], p['FunctionName'], str(p['FunctionVersion']), p.get('Description', ''), None)
            return cls(a.arn)
        @classmethod
        def update_from_cloudformation_json(cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name):
            p = cloudformation_json['Properties']
            a = lambda_backends[account_id][region_name].update_alias(
                p['Name'], p['FunctionName'], str(p['FunctionVersion']), p.get('Description', ''), None)
            return cls(a.arn)
        @classmethod
        def delete_from_cloudformation_json(cls, resource_name, cloudformation_json, account_id, region_name):
            p = cloudformation_json['Properties']
            try:
                lambda_backends[account_id][region_name].delete_alias(p['Name'], p['FunctionName'])
            except Exception:
                pass  # the function, and its aliases with it, is gone

if STATE and os.path.exists(STATE):
    _load()
_cloudformation_versions_and_aliases()
signal.signal(signal.SIGTERM, _exit)
threading.Thread(target=_watch, daemon=True).start()
# Serve like `moto_server`, but bind first and report the bound port on
# stdout: with port 0 the OS picks a free one, so there is no window in which
# another process could take it.
from moto.server import DomainDispatcherApplication, create_backend_app
from werkzeug.serving import make_server
host = sys.argv[sys.argv.index('-H') + 1]
port = int(sys.argv[sys.argv.index('-p') + 1])
app = DomainDispatcherApplication(create_backend_app)
app.debug = True

class Serial:
    # moto's backends hold no lock between a conditional write's check and
    # its write, so two threads can both pass `attribute_not_exists(sk)`;
    # DynamoDB makes that check and write one atomic step. Dispatching one
    # request at a time restores that (connections are still accepted on
    # threads). The body is read inside the lock: moto builds it eagerly.
    def __init__(self, app):
        self.app, self.lock = app, threading.Lock()
    def __call__(self, environ, start_response):
        with self.lock:
            return list(self.app(environ, start_response))

served = app if '--unlocked' in sys.argv else Serial(app)
server = make_server(host, port, served, threaded=True)
os.environ['MOTO_PORT'] = str(server.port)
sys.stdout.write('PORT %d\n' % server.port)
sys.stdout.flush()
server.serve_forever()
