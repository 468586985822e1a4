/** The warning a node logs when it listens beyond loopback with authentication off; silent otherwise. */
import { describe, expect, it } from 'vitest';
import { exposureWarning } from '../../src/server/herald-server.js';
import { isLoopbackAddress, isLoopbackHost } from '../../src/server/config.js';
import { authFixture } from '../support/auth-fixture.js';
import { recordingLogger, startServer } from '../support/server.js';

describe('the exposure warning', () => {
  it('names the address and how to turn auth on, for every non-loopback interface', () => {
    for (const host of ['0.0.0.0', '::', '10.0.0.5', 'herald.internal']) {
      expect(exposureWarning(host, false)).toBe(
        `authentication is off and herald listens on ${host}: anyone who can reach it can register, change and remove instances (turn it on with --auth-file; see README "Authentication and TLS")`,
      );
      expect(exposureWarning(host, true)).toBeUndefined();
    }
    for (const host of ['127.0.0.1', '127.1.2.3', '::1', '[::1]', 'localhost']) expect(exposureWarning(host, false), host).toBeUndefined();
  });

  it('tells loopback peers from others', () => {
    expect(isLoopbackHost('127.0.0.1')).toBe(true);
    expect(isLoopbackHost('0.0.0.0')).toBe(false);
    expect(isLoopbackAddress('127.0.0.1:7070')).toBe(true);
    expect(isLoopbackAddress('[::1]:7070')).toBe(true);
    expect(isLoopbackAddress('localhost:7070')).toBe(true);
    expect(isLoopbackAddress('http://user:pw@127.0.0.1:8761/eureka')).toBe(true);
    expect(isLoopbackAddress('http://[::1]:8761/eureka')).toBe(true);
    expect(isLoopbackAddress('10.0.0.2:7070')).toBe(false);
    expect(isLoopbackAddress('https://eureka.internal/eureka')).toBe(false);
  });

  it('is not logged on loopback, and a node with auth on logs that it is', async () => {
    const { logger, lines } = recordingLogger();
    const auth = await authFixture([{ name: 'a', roles: [] }]);
    await startServer({ authFile: auth.path }, { logger });
    expect(lines.values.some((l) => l.message.startsWith('authentication is off'))).toBe(false);
    expect(lines.values.find((l) => l.message === 'authentication on')?.fields).toMatchObject({ authFile: auth.path, users: 1 });
  });
});
