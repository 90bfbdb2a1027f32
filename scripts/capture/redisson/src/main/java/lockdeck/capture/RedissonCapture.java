package lockdeck.capture;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;

import org.redisson.Redisson;
import org.redisson.api.RFencedLock;
import org.redisson.api.RLock;
import org.redisson.api.RPermitExpirableSemaphore;
import org.redisson.api.RReadWriteLock;
import org.redisson.api.RSemaphore;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;
import org.redisson.config.Config;

/**
 * Makes real Redisson objects hold locks in a Redis server, so LockDeck can dump the exact
 * keys Redisson writes (capture mode) or tests can see a live Redisson holder (hold mode).
 *
 *   capture <redis-url>                                 every scenario on capture:<scenario>
 *   hold <redis-url> <scenario> <lockName> [waiters]    one scenario under the given name
 *
 * Protocol: prints READY on stdout once everything is held, then waits for a line or for
 * stdin to close; then releases everything, prints RELEASED and exits 0. Logs go to stderr.
 * The *-contended scenarios also print, on stdout:
 *   BLOCKED i <epoch ms>       waiter client i is about to block (its own RedissonClient)
 *   ACQUIRED i <epoch ms>      waiter client i got the lock/permit (after the holder let go)
 * and fairlock prints QUEUED i <uuid>:<tid> <epoch ms> / ACQUIRED i <uuid>:<tid> <epoch ms>.
 *
 * Environment (optional): LOCKDECK_REDISSON_CLUSTER=1 (the url is a Redis Cluster seed node),
 * LOCKDECK_REDISSON_WATCHDOG_MS (Config.lockWatchdogTimeout, default
 * 30000) and LOCKDECK_REDISSON_FAIR_WAIT_MS (Config.fairLockWaitTimeout, default 300000: how
 * long a fair-lock waiter may stay in the queue before it is dropped as stale and re-queues at
 * the tail — a queue reorder), LOCKDECK_REDISSON_WAITER_HOLD_MS (how long a fair waiter holds
 * the lock once it gets it; default 0), LOCKDECK_REDISSON_FAIR_PROBE_MS (fairlock: one more
 * thread tries tryLock(0) this often, dropping a stale queue head as a polling service would).
 */
public final class RedissonCapture {

    static final String[] SCENARIOS = {
        "rlock", "fairlock", "rwlock-read", "rwlock-write", "semaphore", "permit-semaphore", "fencedlock",
        "rlock-contended", "rwlock-contended", "semaphore-contended",
    };

    /** Scenarios only for hold mode (capture writes the plain layouts). */
    static final List<String> HOLD_ONLY = List.of("rlock-contended", "rwlock-contended", "semaphore-contended");

    static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    interface Action {
        void run() throws Exception;
    }

    /**
     * A thread that takes something, holds it until told to let go, then releases it from the
     * same thread: Redisson locks belong to the thread id that took them.
     */
    static final class Holder {
        final Thread thread;
        final CountDownLatch taken = new CountDownLatch(1);
        final CountDownLatch letGo = new CountDownLatch(1);
        volatile Throwable error;

        Holder(String label, Action take, Action release) {
            thread = new Thread(() -> {
                try {
                    take.run();
                    taken.countDown();
                    letGo.await();
                    release.run();
                } catch (Throwable e) {
                    error = e;
                    taken.countDown();
                }
            }, label);
        }
    }

    private final RedissonClient redisson;
    private final String url;
    private final List<Holder> holders = new ArrayList<>();
    /** FairLock waiters: they lock and unlock as soon as the lock reaches them. */
    private final List<Thread> waiters = new ArrayList<>();
    /** Waiter clients of the *-contended scenarios (each its own connection, as separate services). */
    private final List<RedissonClient> others = new ArrayList<>();

    RedissonCapture(RedissonClient redisson, String url) {
        this.redisson = redisson;
        this.url = url;
    }

    private void hold(String label, Action take, Action release) throws Exception {
        Holder h = new Holder(label, take, release);
        holders.add(h);
        h.thread.start();
        if (!h.taken.await(30, TimeUnit.SECONDS)) throw new IllegalStateException(label + ": not taken in 30 s");
        if (h.error != null) throw new IllegalStateException(label + ": " + h.error, h.error);
    }

    private void waiter(String label, RLock lock) {
        int i = waiters.size();
        Thread t = new Thread(() -> {
            String id = redisson.getId() + ":" + Thread.currentThread().getId();
            say("QUEUED " + i + " " + id + " " + System.currentTimeMillis());
            lock.lock();
            say("ACQUIRED " + i + " " + id + " " + System.currentTimeMillis());
            sleepEnv("LOCKDECK_REDISSON_WAITER_HOLD_MS");
            lock.unlock();
        }, label);
        waiters.add(t);
        t.start();
    }

    /**
     * A waiter that is its own Redisson client (its own subscription connection): it blocks in
     * take, lets go at once when it gets through.
     */
    private void blockedClient(int i, java.util.function.Function<RedissonClient, Action[]> steps) {
        RedissonClient c = Redisson.create(config(url));
        others.add(c);
        Action[] a = steps.apply(c);
        Thread t = new Thread(() -> {
            try {
                say("BLOCKED " + i + " " + System.currentTimeMillis());
                a[0].run();
                say("ACQUIRED " + i + " " + System.currentTimeMillis());
                a[1].run();
            } catch (Throwable e) {
                e.printStackTrace();
            }
        }, "blocked-" + i);
        waiters.add(t);
        t.start();
    }

    private volatile boolean probing = true;

    /**
     * Another thread that tries the fair lock without waiting (tryLock(0)) every few ms, as a
     * service polling for a lock does: each attempt runs Redisson's acquire script, which drops a
     * stale queue head — the head then re-queues at the tail on its own next attempt.
     */
    private void prober(RLock lock, long everyMs) {
        Thread t = new Thread(() -> {
            while (probing) {
                try {
                    Thread.sleep(everyMs);
                    if (probing && lock.tryLock(0, TimeUnit.MILLISECONDS)) lock.unlock();
                } catch (InterruptedException e) {
                    return;
                }
            }
        }, "fairlock-prober");
        t.setDaemon(true);
        t.start();
    }

    /** Sleeps for the ms an environment variable names (0 when unset): a waiter holding a while. */
    static void sleepEnv(String name) {
        String v = System.getenv(name);
        if (v == null) return;
        try {
            Thread.sleep(Long.parseLong(v));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Waits until n clients are subscribed to a lock's channel (they are blocked then). */
    private void awaitSubscribers(String channel, int n) throws InterruptedException {
        // On a Redis 7 cluster Redisson subscribes with SSUBSCRIBE (sharded): count both kinds.
        boolean cluster = "1".equals(System.getenv("LOCKDECK_REDISSON_CLUSTER"));
        await(n + " subscribers on " + channel, () -> redisson.getTopic(channel, StringCodec.INSTANCE).countSubscribers()
            + (cluster ? redisson.getShardedTopic(channel, StringCodec.INSTANCE).countSubscribers() : 0) >= n);
    }

    private static String prefixed(String prefix, String name) {
        return prefix + ":" + (name.contains("{") ? name : "{" + name + "}");
    }

    static Config config(String url) {
        Config config = new Config();
        // Few connections: this is a test helper, not a service.
        if ("1".equals(System.getenv("LOCKDECK_REDISSON_CLUSTER"))) {
            // A Redis Cluster seed node; Redisson's own defaults otherwise (subscriptions on the
            // shard that owns the channel's slot, sharded pub/sub where the server has it).
            config.useClusterServers()
                .addNodeAddress(url)
                .setMasterConnectionMinimumIdleSize(1)
                .setMasterConnectionPoolSize(4)
                .setSlaveConnectionMinimumIdleSize(1)
                .setSlaveConnectionPoolSize(4)
                .setSubscriptionConnectionMinimumIdleSize(1)
                .setSubscriptionConnectionPoolSize(2);
        } else {
            config.useSingleServer()
                .setAddress(url)
                .setConnectionMinimumIdleSize(1)
                .setConnectionPoolSize(4)
                .setSubscriptionConnectionMinimumIdleSize(1)
                .setSubscriptionConnectionPoolSize(2);
        }
        String watchdog = System.getenv("LOCKDECK_REDISSON_WATCHDOG_MS");
        if (watchdog != null) config.setLockWatchdogTimeout(Long.parseLong(watchdog));
        String fairWait = System.getenv("LOCKDECK_REDISSON_FAIR_WAIT_MS");
        if (fairWait != null) config.setFairLockWaitTimeout(Long.parseLong(fairWait));
        return config;
    }

    private static void await(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("timed out waiting for " + what);
            Thread.sleep(20);
        }
    }

    /** Takes one scenario's lock(s) under {@code name}; n = waiter clients of the *-contended ones. */
    void take(String scenario, String name, int n) throws Exception {
        switch (scenario) {
            case "rlock-contended" -> {
                RLock lock = redisson.getLock(name);
                hold("rlock", lock::lock, lock::unlock);
                for (int i = 0; i < n; i++) {
                    blockedClient(i, c -> { RLock l = c.getLock(name); return new Action[] { l::lock, l::unlock }; });
                    awaitSubscribers(prefixed("redisson_lock__channel", name), i + 1);
                }
            }
            case "rwlock-contended" -> {
                // A writer holds; waiter clients alternate reader, writer, reader…
                RReadWriteLock rw = redisson.getReadWriteLock(name);
                hold("rwlock-writer", () -> rw.writeLock().lock(), () -> rw.writeLock().unlock());
                for (int i = 0; i < n; i++) {
                    boolean write = i % 2 == 1;
                    blockedClient(i, c -> {
                        RLock l = write ? c.getReadWriteLock(name).writeLock() : c.getReadWriteLock(name).readLock();
                        return new Action[] { l::lock, l::unlock };
                    });
                    awaitSubscribers(prefixed("redisson_rwlock", name), i + 1);
                }
            }
            case "semaphore-contended" -> {
                // One permit, taken: every waiter client blocks in acquire().
                RSemaphore sem = redisson.getSemaphore(name);
                hold("semaphore", () -> { sem.trySetPermits(1); sem.acquire(); }, sem::release);
                for (int i = 0; i < n; i++) {
                    blockedClient(i, c -> { RSemaphore x = c.getSemaphore(name); return new Action[] { x::acquire, x::release }; });
                    awaitSubscribers(prefixed("redisson_sc", name), i + 1);
                }
            }
            case "rlock" -> {
                // re-entered once: the hash field's count reads 2
                RLock lock = redisson.getLock(name);
                hold("rlock", () -> { lock.lock(); lock.lock(); }, () -> { lock.unlock(); lock.unlock(); });
            }
            case "fairlock" -> {
                RLock lock = redisson.getFairLock(name);
                hold("fairlock-holder", lock::lock, lock::unlock);
                // Start the waiters one by one so their queue order is known (waiter-1 first).
                // Redisson's helper-key rule: "p:{name}", or "p:name" if name already has a hash tag.
                String queue = "redisson_lock_queue:" + (name.contains("{") ? name : "{" + name + "}");
                waiter("fairlock-waiter-1", lock);
                await("first fair waiter", () -> redisson.getList(queue, StringCodec.INSTANCE).size() >= 1);
                waiter("fairlock-waiter-2", lock);
                await("second fair waiter", () -> redisson.getList(queue, StringCodec.INSTANCE).size() >= 2);
                String probe = System.getenv("LOCKDECK_REDISSON_FAIR_PROBE_MS");
                if (probe != null) prober(lock, Long.parseLong(probe));
            }
            case "rwlock-read" -> {
                RReadWriteLock rw = redisson.getReadWriteLock(name);
                hold("rwlock-reader-1", () -> rw.readLock().lock(), () -> rw.readLock().unlock());
                hold("rwlock-reader-2", () -> rw.readLock().lock(), () -> rw.readLock().unlock());
            }
            case "rwlock-write" -> {
                RReadWriteLock rw = redisson.getReadWriteLock(name);
                hold("rwlock-writer", () -> rw.writeLock().lock(), () -> rw.writeLock().unlock());
            }
            case "semaphore" -> {
                // 3 permits, 1 taken: the counter reads 2 and nothing names the holder
                RSemaphore sem = redisson.getSemaphore(name);
                hold("semaphore", () -> { sem.trySetPermits(3); sem.acquire(); }, sem::release);
            }
            case "permit-semaphore" -> {
                // 3 permits, 2 taken: one without lease, one with a 60 s lease
                RPermitExpirableSemaphore sem = redisson.getPermitExpirableSemaphore(name);
                String[] ids = new String[2];
                hold("permit-semaphore", () -> {
                    sem.trySetPermits(3);
                    ids[0] = sem.acquire();
                    ids[1] = sem.acquire(60, TimeUnit.SECONDS);
                    System.err.println("permit ids: " + ids[0] + " (no lease), " + ids[1] + " (60 s lease)");
                }, () -> { sem.release(ids[1]); sem.release(ids[0]); });
            }
            case "fencedlock" -> {
                RFencedLock lock = redisson.getFencedLock(name);
                hold("fencedlock", () -> System.err.println("fencing token: " + lock.lockAndGetToken()), lock::unlock);
            }
            default -> throw new IllegalArgumentException("unknown scenario " + scenario + "; one of " + String.join(", ", SCENARIOS));
        }
    }

    /** Lets go in reverse order of taking; fair waiters then get the lock in turn and drop it. */
    boolean releaseAll() throws InterruptedException {
        probing = false;
        boolean ok = true;
        for (int i = holders.size() - 1; i >= 0; i--) {
            Holder h = holders.get(i);
            h.letGo.countDown();
            h.thread.join(30_000);
            if (h.error != null || h.thread.isAlive()) {
                System.err.println(h.thread.getName() + ": release failed: " + h.error);
                ok = false;
            }
        }
        for (Thread t : waiters) {
            t.join(30_000);
            if (t.isAlive()) {
                System.err.println(t.getName() + ": still waiting");
                ok = false;
            }
        }
        for (RedissonClient c : others) c.shutdown();
        return ok;
    }

    public static void main(String[] args) throws Exception {
        boolean capture = args.length == 2 && args[0].equals("capture");
        boolean holdOne = (args.length == 4 || args.length == 5) && args[0].equals("hold") && List.of(SCENARIOS).contains(args[2]);
        if (!capture && !holdOne) {
            System.err.println("usage: capture <redis-url> | hold <redis-url> <scenario> <lockName> [waiters]");
            System.err.println("scenarios: " + String.join(", ", SCENARIOS));
            System.exit(2);
        }
        RedissonClient redisson = Redisson.create(config(args[1]));
        RedissonCapture c = new RedissonCapture(redisson, args[1]);
        int status = 0;
        try {
            if (capture) {
                for (String s : SCENARIOS) if (!HOLD_ONLY.contains(s)) c.take(s, "capture:" + s, 0);
            } else {
                c.take(args[2], args[3], args.length == 5 ? Integer.parseInt(args[4]) : 2);
            }
            System.out.println("READY");
            System.out.flush();
            // A line or EOF both mean "let go".
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
            if (!c.releaseAll()) status = 1;
            System.out.println("RELEASED");
            System.out.flush();
        } catch (Exception e) {
            e.printStackTrace();
            status = 1;
            c.releaseAll(); // whatever was taken before the failure
        } finally {
            redisson.shutdown();
        }
        System.exit(status);
    }
}
