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
 *   capture <redis-url>                     every scenario on capture:<scenario>
 *   hold <redis-url> <scenario> <lockName>  one scenario under the given name
 *
 * Protocol: prints READY on stdout once everything is held, then waits for a line or for
 * stdin to close; then releases everything, prints RELEASED and exits 0. Logs go to stderr.
 */
public final class RedissonCapture {

    static final String[] SCENARIOS = {
        "rlock", "fairlock", "rwlock-read", "rwlock-write", "semaphore", "permit-semaphore", "fencedlock",
    };

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
    private final List<Holder> holders = new ArrayList<>();
    /** FairLock waiters: they lock and unlock as soon as the lock reaches them. */
    private final List<Thread> waiters = new ArrayList<>();

    RedissonCapture(RedissonClient redisson) {
        this.redisson = redisson;
    }

    private void hold(String label, Action take, Action release) throws Exception {
        Holder h = new Holder(label, take, release);
        holders.add(h);
        h.thread.start();
        if (!h.taken.await(30, TimeUnit.SECONDS)) throw new IllegalStateException(label + ": not taken in 30 s");
        if (h.error != null) throw new IllegalStateException(label + ": " + h.error, h.error);
    }

    private void waiter(String label, RLock lock) {
        Thread t = new Thread(() -> {
            lock.lock();
            lock.unlock();
        }, label);
        waiters.add(t);
        t.start();
    }

    private static void await(String what, BooleanSupplier done) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!done.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("timed out waiting for " + what);
            Thread.sleep(20);
        }
    }

    /** Takes one scenario's lock(s) under {@code name}. */
    void take(String scenario, String name) throws Exception {
        switch (scenario) {
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
        return ok;
    }

    public static void main(String[] args) throws Exception {
        boolean capture = args.length == 2 && args[0].equals("capture");
        boolean holdOne = args.length == 4 && args[0].equals("hold") && List.of(SCENARIOS).contains(args[2]);
        if (!capture && !holdOne) {
            System.err.println("usage: capture <redis-url> | hold <redis-url> <scenario> <lockName>");
            System.err.println("scenarios: " + String.join(", ", SCENARIOS));
            System.exit(2);
        }
        Config config = new Config();
        // Few connections: this is a test helper, not a service.
        config.useSingleServer()
            .setAddress(args[1])
            .setConnectionMinimumIdleSize(2)
            .setSubscriptionConnectionMinimumIdleSize(1);
        RedissonClient redisson = Redisson.create(config);
        RedissonCapture c = new RedissonCapture(redisson);
        int status = 0;
        try {
            if (capture) {
                for (String s : SCENARIOS) c.take(s, "capture:" + s);
            } else {
                c.take(args[2], args[3]);
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
