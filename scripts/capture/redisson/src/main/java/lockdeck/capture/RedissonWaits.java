package lockdeck.capture;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.redisson.Redisson;
import org.redisson.api.RLock;
import org.redisson.api.RedissonClient;
import org.redisson.client.codec.StringCodec;
import org.redisson.config.Config;

/**
 * Several Redisson clients (each its own RedissonClient, so its own client UUID) whose thread
 * first takes some fair locks and then, once every client holds its own, asks for one more: real
 * wait-for chains and cycles for tests and captures (a>b and b>a is a deadlock).
 *
 *   java -cp redisson-capture.jar lockdeck.capture.RedissonWaits <redis-url> <spec>...
 *   spec = <name>[,<name>...][><name>]        e.g. orders:a>orders:b
 *
 * Protocol (stdout): "CLIENT i <uuid>:<thread id>", "HOLDS i <name>", "WAITING i <name>", READY
 * once every waiter is in its lock's queue, "ACQUIRED i <name>" when a waiter gets its lock
 * (someone let go or force-released). A line on stdin or stdin closing: waiters stop waiting
 * (Redisson takes them out of the queue), holders unlock, "RELEASED", exit 0. Each client's
 * locks are taken and released by one thread: Redisson locks belong to the thread that took them.
 */
public final class RedissonWaits {

    static synchronized void say(String line) {
        System.out.println(line);
        System.out.flush();
    }

    static final class Client {
        final int index;
        final RedissonClient redisson;
        final List<String> holds = new ArrayList<>();
        final String waitFor;
        final CountDownLatch held = new CountDownLatch(1);
        final CountDownLatch done = new CountDownLatch(1);
        volatile String ownerId;
        volatile Throwable error;
        Thread thread;
        private boolean acquiring;

        Client(String url, int index, String spec) {
            this.index = index;
            String[] parts = spec.split(">", 2);
            for (String p : parts[0].split(",")) if (!p.isEmpty()) holds.add(p);
            waitFor = parts.length > 1 && !parts[1].isEmpty() ? parts[1] : null;
            Config config = new Config();
            config.useSingleServer().setAddress(url).setConnectionMinimumIdleSize(1).setConnectionPoolSize(4)
                .setSubscriptionConnectionMinimumIdleSize(1).setSubscriptionConnectionPoolSize(2);
            redisson = Redisson.create(config);
        }

        synchronized void setAcquiring(boolean on) {
            acquiring = on;
        }

        /** Ends the client: a waiter stops waiting (interrupted inside lockInterruptibly), a holder lets go. */
        synchronized void stop() {
            done.countDown();
            if (acquiring) thread.interrupt();
        }

        void start(CountDownLatch go) {
            thread = new Thread(() -> {
                List<RLock> mine = new ArrayList<>();
                try {
                    ownerId = redisson.getId() + ":" + Thread.currentThread().getId();
                    say("CLIENT " + index + " " + ownerId);
                    for (String name : holds) {
                        RLock l = redisson.getFairLock(name);
                        l.lock();
                        mine.add(l);
                        say("HOLDS " + index + " " + name);
                    }
                    held.countDown();
                    go.await();
                    if (waitFor != null) {
                        RLock l = redisson.getFairLock(waitFor);
                        say("WAITING " + index + " " + waitFor);
                        setAcquiring(true);
                        try {
                            l.lockInterruptibly();
                        } finally {
                            setAcquiring(false);
                        }
                        mine.add(l);
                        say("ACQUIRED " + index + " " + waitFor);
                    }
                    done.await();
                } catch (InterruptedException e) {
                    // told to stop waiting: unlock what we hold below
                } catch (Throwable e) {
                    error = e;
                    e.printStackTrace();
                } finally {
                    Thread.interrupted();
                    for (int i = mine.size() - 1; i >= 0; i--) {
                        try {
                            mine.get(i).unlock();
                        } catch (Exception e) {
                            // force-released under us: this thread no longer holds it
                            System.err.println("client " + index + ": unlock: " + e);
                        }
                    }
                }
            }, "client-" + index);
            thread.start();
        }

        /** This client's thread is in the fair queue of waitFor (its wait is visible in Redis). */
        boolean queued() {
            String name = waitFor.contains("{") ? waitFor : "{" + waitFor + "}";
            return ownerId != null && redisson.getList("redisson_lock_queue:" + name, StringCodec.INSTANCE).contains(ownerId);
        }
    }

    static void await(String what, java.util.function.BooleanSupplier check) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (!check.getAsBoolean()) {
            if (System.nanoTime() > deadline) throw new IllegalStateException("timed out waiting for " + what);
            Thread.sleep(20);
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 2) {
            System.err.println("usage: RedissonWaits <redis-url> <name>[,<name>...][><name>]...");
            System.exit(2);
        }
        List<Client> clients = new ArrayList<>();
        CountDownLatch go = new CountDownLatch(1);
        int status = 0;
        try {
            for (int i = 1; i < args.length; i++) clients.add(new Client(args[0], i - 1, args[i]));
            for (Client c : clients) {
                c.start(go);
                if (!c.held.await(30, TimeUnit.SECONDS)) throw new IllegalStateException("client " + c.index + " does not hold its locks");
            }
            go.countDown();
            for (Client c : clients) if (c.waitFor != null) await("client " + c.index + " queued on " + c.waitFor, c::queued);
            say("READY");
            new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8)).readLine();
        } catch (Exception e) {
            e.printStackTrace();
            status = 1;
        } finally {
            for (Client c : clients) {
                if (c.thread != null) {
                    c.stop();
                    c.thread.join(30_000);
                    if (c.thread.isAlive() || c.error != null) status = 1;
                }
                c.redisson.shutdown();
            }
        }
        say("RELEASED");
        System.exit(status);
    }
}
