/**
 * Cursor pages (`{object: "list", data, has_more}`, newest first). `list()` returns a PagePromise:
 * await it for the first page, or `for await` over it for every item of every page, fetched with
 * `starting_after=<last id>` while `has_more`.
 */

export interface ListResponse<T> {
  object: 'list';
  data: T[];
  has_more: boolean;
}

export class Page<T extends { id: string }> implements AsyncIterable<T> {
  readonly data: T[];
  readonly has_more: boolean;
  readonly requestID: string | undefined;
  readonly #next: (startingAfter: string) => Promise<Page<T>>;

  constructor(
    body: ListResponse<T>,
    requestID: string | undefined,
    next: (after: string) => Promise<Page<T>>,
  ) {
    this.data = body.data;
    this.has_more = body.has_more;
    this.requestID = requestID;
    this.#next = next;
  }

  hasNextPage(): boolean {
    return this.has_more && this.data.length > 0;
  }

  getNextPage(): Promise<Page<T>> {
    if (!this.hasNextPage()) throw new Error('No next page: check hasNextPage() first');
    return this.#next(this.data[this.data.length - 1].id);
  }

  /** Every item from this page on. */
  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    let page: Page<T> = this;
    for (;;) {
      yield* page.data;
      if (!page.hasNextPage()) return;
      page = await page.getNextPage();
    }
  }
}

export class PagePromise<T extends { id: string }> implements PromiseLike<Page<T>>, AsyncIterable<T> {
  readonly #page: () => Promise<Page<T>>;
  #promise: Promise<Page<T>> | undefined;

  constructor(page: () => Promise<Page<T>>) {
    this.#page = page;
  }

  // biome-ignore lint/suspicious/noThenProperty: a PagePromise is awaited for its first page
  then<A = Page<T>, B = never>(
    onfulfilled?: ((page: Page<T>) => A | PromiseLike<A>) | null,
    onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null,
  ): Promise<A | B> {
    this.#promise ??= this.#page();
    return this.#promise.then(onfulfilled, onrejected);
  }

  catch<B = never>(onrejected?: ((reason: unknown) => B | PromiseLike<B>) | null): Promise<Page<T> | B> {
    return this.then(undefined, onrejected);
  }

  async *[Symbol.asyncIterator](): AsyncIterator<T> {
    yield* await this;
  }
}
