/** Commands of the loopback echo process (echo-main.ts), shared by both ends. */
export interface EchoCommands {
  /** Starts a TCP echo server on 127.0.0.1, port 0. */
  listen: { arg: undefined; result: { port: number } };
}
