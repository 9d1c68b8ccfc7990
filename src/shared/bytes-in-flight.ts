/**
 * A budget of request-body bytes held in memory at once, per address block and in all: what
 * bounds the memory of bodies read whole (the inbox's), however many connections hold them.
 * A request takes what it may come to hold before it reads, and gives it back once done.
 */

/** Which budget a request would exceed: its address block's, or the pod's. */
export type BudgetScope = 'address' | 'all'

/** Bytes taken from the budget by one request. */
export interface Reservation {
  /** Takes more (or gives some back) so that the request holds `bytes`; the scope that refuses, or undefined. */
  resize(bytes: number): BudgetScope | undefined
  /** Gives everything back (again: nothing). */
  release(): void
}

/** The budget: `perAddress` bytes per address block, `all` in all. */
export class BytesInFlight {
  private readonly byAddress = new Map<string, number>()
  private total = 0

  constructor(
    private readonly perAddress: number,
    private readonly all: number,
  ) {}

  /** Bytes held now, in all. */
  held(): number {
    return this.total
  }

  /** Takes `bytes` for `address`: a reservation, or the scope that refuses. */
  reserve(address: string, bytes: number): Reservation | BudgetScope {
    const refused = this.take(address, bytes)
    if (refused) return refused
    let held = bytes
    return {
      resize: (next) => {
        const refusedMore = this.take(address, next - held)
        if (!refusedMore) held = next
        return refusedMore
      },
      release: () => {
        this.take(address, -held)
        held = 0
      },
    }
  }

  /** Adds `delta` bytes for `address` unless a budget would be exceeded (giving back always works). */
  private take(address: string, delta: number): BudgetScope | undefined {
    const mine = this.byAddress.get(address) ?? 0
    if (delta > 0) {
      if (mine + delta > this.perAddress) return 'address'
      if (this.total + delta > this.all) return 'all'
    }
    this.total += delta
    if (mine + delta > 0) this.byAddress.set(address, mine + delta)
    else this.byAddress.delete(address)
    return undefined
  }
}
