/**
 * HTTP answers to writes that reached the durable store go out once the store has them on disk.
 * A route handler marks its request before its (synchronous) registry calls and sends its answer
 * in the same turn; the onSend hook then finds how many store writes were issued since the mark
 * and holds the answer until they are durable. Requests that wrote nothing durable (reads, every
 * ephemeral write) are answered at once. A failed store write answers 500 (logged by fastify), as
 * the write was not acknowledged.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WriteBarrier } from '../store/write-barrier.js';

export class DurableReplies {
  private readonly marks = new WeakMap<FastifyRequest, number>();

  constructor(private readonly barrier: WriteBarrier) {}

  /** Call right before a handler's registry calls (in the turn that sends the answer). */
  mark(req: FastifyRequest): void {
    this.marks.set(req, this.barrier.issued);
  }

  /** Adds the onSend hook that holds answers until their writes are durable. */
  install(app: FastifyInstance): void {
    app.addHook('onSend', async (req, _reply, payload) => {
      const mark = this.marks.get(req);
      const issued = this.barrier.issued;
      if (mark !== undefined && issued !== mark) await this.barrier.durable(issued);
      return payload;
    });
  }
}
