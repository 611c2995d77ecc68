import { describe, expect, it } from 'vitest';
import { createConcurrencyLimit } from '../../src/core/concurrency-limit.js';
import { OverloadedError } from '../../src/core/errors.js';

interface Deferred<T> {
  promise: Promise<T>;
  resolve(value: T): void;
  reject(reason: unknown): void;
}

function defer<T = void>(): Deferred<T> {
  let resolve!: (value: T) => void;
  let reject!: (reason: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

/** Lets every already-settled promise run its callbacks, so a freed slot is taken before asserting. */
const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Tasks that record when they start and finish only when the test says so. */
function controlledTasks() {
  const started: string[] = [];
  const finishers = new Map<string, Deferred<string>>();
  let active = 0;
  let peak = 0;
  const task = (name: string) => async (): Promise<string> => {
    started.push(name);
    active++;
    peak = Math.max(peak, active);
    const finish = defer<string>();
    finishers.set(name, finish);
    try {
      return await finish.promise;
    } finally {
      active--;
    }
  };
  const finisher = (name: string): Deferred<string> => {
    const found = finishers.get(name);
    if (!found) throw new Error(`task ${name} has not started`);
    return found;
  };
  return { started, task, finisher, peak: () => peak };
}

describe('createConcurrencyLimit', () => {
  it('never runs more than max tasks at once', async () => {
    const limit = createConcurrencyLimit(3);
    const tasks = controlledTasks();
    const names = ['a', 'b', 'c', 'd', 'e', 'f', 'g'];
    const results = names.map((name) => limit.run(tasks.task(name)));
    await flush();
    expect(tasks.started).toEqual(['a', 'b', 'c']);
    expect([limit.running, limit.waiting]).toEqual([3, 4]);

    for (const name of names) {
      tasks.finisher(name).resolve(name.toUpperCase());
      await flush();
      expect(limit.running).toBeLessThanOrEqual(3);
    }
    expect(await Promise.all(results)).toEqual(['A', 'B', 'C', 'D', 'E', 'F', 'G']);
    expect(tasks.peak()).toBe(3);
    expect([limit.running, limit.waiting]).toEqual([0, 0]);
  });

  it('starts waiting tasks in the order they arrived, whichever running task ends first', async () => {
    const limit = createConcurrencyLimit(2);
    const tasks = controlledTasks();
    const results = ['a', 'b', 'c', 'd', 'e'].map((name) => limit.run(tasks.task(name)));
    await flush();
    tasks.finisher('b').resolve('b');
    await flush();
    expect(tasks.started).toEqual(['a', 'b', 'c']);

    // A task that arrives while others wait goes to the back of the line.
    results.push(limit.run(tasks.task('late')));
    tasks.finisher('a').resolve('a');
    await flush();
    expect(tasks.started).toEqual(['a', 'b', 'c', 'd']);
    tasks.finisher('c').resolve('c');
    tasks.finisher('d').resolve('d');
    await flush();
    expect(tasks.started).toEqual(['a', 'b', 'c', 'd', 'e', 'late']);
    tasks.finisher('e').resolve('e');
    tasks.finisher('late').resolve('late');
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c', 'd', 'e', 'late']);
  });

  it('frees the slot of a task that rejects, and passes the rejection on', async () => {
    const limit = createConcurrencyLimit(1);
    const tasks = controlledTasks();
    const failing = limit.run(tasks.task('failing'));
    const next = limit.run(tasks.task('next'));
    await flush();
    expect(tasks.started).toEqual(['failing']);

    const failure = new Error('argon2 failed');
    tasks.finisher('failing').reject(failure);
    await expect(failing).rejects.toBe(failure);
    await flush();
    expect(tasks.started).toEqual(['failing', 'next']);
    tasks.finisher('next').resolve('ok');
    expect(await next).toBe('ok');
    expect([limit.running, limit.waiting]).toEqual([0, 0]);
  });

  it('frees the slot of a task that throws before returning a promise', async () => {
    const limit = createConcurrencyLimit(1);
    const thrown = new Error('thrown synchronously');
    await expect(
      limit.run(() => {
        throw thrown;
      }),
    ).rejects.toBe(thrown);
    expect(await limit.run(() => Promise.resolve('after'))).toBe('after');
    expect(limit.running).toBe(0);
  });

  it('rejects with OverloadedError, without running the task, when the queue is full', async () => {
    const limit = createConcurrencyLimit(1, { maxWaiting: 2 });
    const tasks = controlledTasks();
    const accepted = ['a', 'b', 'c'].map((name) => limit.run(tasks.task(name)));
    let refusedRan = false;
    const refused = limit.run(() => {
      refusedRan = true;
      return Promise.resolve('never');
    });
    await expect(refused).rejects.toBeInstanceOf(OverloadedError);
    await expect(refused).rejects.toThrow(/2 operations are already waiting/);
    expect(refusedRan).toBe(false);
    expect([limit.running, limit.waiting]).toEqual([1, 2]);

    // Once the line moves, there is room again.
    tasks.finisher('a').resolve('a');
    await flush();
    const readmitted = limit.run(tasks.task('d'));
    expect(limit.waiting).toBe(2);
    for (const name of ['b', 'c', 'd']) {
      await flush();
      tasks.finisher(name).resolve(name);
    }
    expect(await Promise.all([...accepted, readmitted])).toEqual(['a', 'b', 'c', 'd']);
  });

  it('with maxWaiting 0, refuses as soon as every slot is taken', async () => {
    const limit = createConcurrencyLimit(1, { maxWaiting: 0 });
    const tasks = controlledTasks();
    const running = limit.run(tasks.task('a'));
    await expect(limit.run(() => Promise.resolve('b'))).rejects.toBeInstanceOf(OverloadedError);
    await flush();
    tasks.finisher('a').resolve('a');
    expect(await running).toBe('a');
  });

  it('with max 1, runs tasks one after another', async () => {
    const limit = createConcurrencyLimit(1);
    const tasks = controlledTasks();
    const results = ['a', 'b', 'c'].map((name) => limit.run(tasks.task(name)));
    for (const [index, name] of ['a', 'b', 'c'].entries()) {
      await flush();
      expect(tasks.started).toHaveLength(index + 1);
      tasks.finisher(name).resolve(name);
    }
    expect(await Promise.all(results)).toEqual(['a', 'b', 'c']);
    expect(tasks.peak()).toBe(1);
  });

  it('defaults to 1,000 waiting tasks', async () => {
    const limit = createConcurrencyLimit(1);
    const gate = defer();
    const accepted = Array.from({ length: 1001 }, () => limit.run(() => gate.promise));
    expect(limit.waiting).toBe(1000);
    await expect(limit.run(() => Promise.resolve())).rejects.toBeInstanceOf(OverloadedError);
    gate.resolve();
    await Promise.all(accepted);
    expect([limit.running, limit.waiting]).toEqual([0, 0]);
  });

  it.each([0, -1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])('refuses max %s with a TypeError', (max) => {
    expect(() => createConcurrencyLimit(max)).toThrow(TypeError);
    expect(() => createConcurrencyLimit(max)).toThrow(/positive integer/);
  });

  it.each([-1, 0.5, Number.NaN])('refuses maxWaiting %s with a TypeError', (maxWaiting) => {
    expect(() => createConcurrencyLimit(1, { maxWaiting })).toThrow(TypeError);
  });
});
