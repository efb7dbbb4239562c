import { describe, expect, it } from 'vitest';
import { WardenError } from '../../core/errors.js';
import type { SqlExecutor } from '../sql-executor.js';
import { SqlAggregate, composeAggregates } from './sql-aggregate.js';

/** An executor that records the statements it is given and answers with no rows. */
function recordingExecutor(name: string, log: string[]): SqlExecutor {
  const self: SqlExecutor = {
    async query<R>(sql: string): Promise<R[]> {
      log.push(`${name}: ${sql}`);
      return [];
    },
    async exec(sql: string) {
      log.push(`${name}: ${sql}`);
    },
    transaction: (fn) => fn(self),
  };
  return self;
}

class Apples extends SqlAggregate {
  async countApples(): Promise<number> {
    await this.db.query('SELECT apples');
    return 1;
  }
}

class Pears extends SqlAggregate {
  async countPears(): Promise<number> {
    await this.db.query('SELECT pears');
    return 2;
  }

  /** Reaches another aggregate's method through `this`, as one class would. */
  async countFruit(this: Pears & Apples): Promise<number> {
    return (await this.countApples()) + (await this.countPears());
  }
}

describe('composeAggregates', () => {
  it('runs every part’s methods on the one executor the composed object was built with', async () => {
    const log: string[] = [];
    const Fruit = composeAggregates(Apples, Pears);
    const a = new Fruit(recordingExecutor('a', log));
    const b = new Fruit(recordingExecutor('b', log));
    expect(await a.countFruit()).toBe(3);
    expect(await b.countPears()).toBe(2);
    expect(log).toEqual(['a: SELECT apples', 'a: SELECT pears', 'b: SELECT pears']);
  });

  it('keeps the methods on the prototype, so a spy on one instance sees the calls made through `this`', async () => {
    const Fruit = composeAggregates(Apples, Pears);
    const fruit = new Fruit(recordingExecutor('a', []));
    expect(Object.hasOwn(fruit, 'countApples')).toBe(false);
    fruit.countApples = async () => 40;
    expect(await fruit.countFruit()).toBe(42);
  });

  it('refuses two parts that define one method name', () => {
    class MoreApples extends SqlAggregate {
      async countApples(): Promise<number> {
        return 0;
      }
    }
    expect(() => composeAggregates(Apples, MoreApples)).toThrow(WardenError);
    expect(() => composeAggregates(Apples, MoreApples)).toThrow(/countApples is defined by two aggregates/);
  });
});
