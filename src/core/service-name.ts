/**
 * The one-string name of a service, shared by herald's xDS server (`xds:///<name>`) and the SDK's
 * grpc-js resolver (`herald:///<name>`): `service`, `group@@service` or `namespace@@group@@service`.
 */
import { DEFAULT_GROUP, DEFAULT_NAMESPACE, type ServiceRef } from './model.js';

/**
 * herald's name characters (validate.ts); '@@' separates the parts. herald's names never contain
 * '@', so the form is unambiguous, and it is a valid HTTP/2 :authority (a gRPC client sends the
 * target's path as one; '/' would be refused by the servers it calls).
 */
const NAME_PART = /^[A-Za-z0-9._:-]+$/;

/** The service a name stands for (the parts left out are the default group and namespace), or undefined when it is not one. */
export function serviceOfXdsName(name: string): ServiceRef | undefined {
  const parts = name.split('@@');
  if (parts.length > 3 || !parts.every((p) => NAME_PART.test(p))) return undefined;
  const [service = '', group = DEFAULT_GROUP, namespace = DEFAULT_NAMESPACE] = parts.reverse();
  return { namespace, group, service };
}
