"""Streamed messages through the real FFI: a writer's pieces reach a reader once and in order,
through a server kill, and a late joiner gets the text so far in one message."""

import json

from conftest import Recorder, joined_pair, new_client, roomcast, run_async

SS = roomcast.StreamState


class Pieces(roomcast.StreamListener):
    """Records a room's stream pieces into `recorder`, in order with its other events."""

    def __init__(self, recorder):
        self.recorder = recorder

    def on_append(self, piece):
        self.recorder._add("append", piece)


def view(recorder, stream_id):
    """The text a reader was shown of `stream_id` and how it ended; fails on a piece out of
    turn or an opening message shown twice."""
    text, count, end = None, 0, None
    for kind, value in list(recorder.events):
        if kind == "message" and value.id == stream_id:
            assert text is None, "the opening message came twice"
            assert value.stream is not None
            text, count = value.stream.text, value.stream.n
            if value.stream.state != SS.OPEN:
                end = value.stream.state
        elif kind == "append" and value.id == stream_id:
            assert text is not None, "a piece before its opening message"
            assert value.n == count, f"piece {value.n} out of turn (shown {count})"
            assert end is None, "a piece after the end"
            text += value.text
            count += 1
            end = value.end
    return text, end


@run_async
async def test_a_writer_streams_to_a_reader_through_a_server_kill(server):
    alice, bob, room_a, room_b, a, b = await joined_pair(server)
    subscription = room_b.on_append(Pieces(b))
    writer = room_a.stream("assistant.reply", json.dumps({"role": "assistant"}))
    opened = await writer.opened()
    assert opened.id == writer.id() and opened.seq == 1

    words = [f"w{i}·é " for i in range(300)]
    for i, word in enumerate(words):
        if i == 150:
            server.restart()  # kill -9 and up again: the piece waits, and is applied once
        ack = await writer.append(word)
        assert ack.seq == 2 + i
    done = await writer.finish()
    assert done.seq == 1 + len(words) + 1

    await b.until(lambda r: view(r, writer.id())[1] is not None, timeout=60)
    text, end = view(b, writer.id())
    assert (text, end) == ("".join(words), SS.DONE)
    # A writer never gets its own pieces back.
    assert a.of("append") == []

    # After the end, further pieces are refused.
    try:
        await writer.append("late")
        raise AssertionError("appended after finish")
    except roomcast.RoomcastError:
        pass
    subscription.cancel()


@run_async
async def test_a_late_joiner_gets_the_text_so_far_and_a_reader_can_cancel(server):
    alice, bob, room_a, room_b, a, b = await joined_pair(server)
    writer = room_a.stream("assistant.reply", json.dumps({"role": "assistant"}))
    for i in range(20):
        await writer.append(f"a{i} ")

    carol = new_client(server.config("carol", "web"), None)
    c = Recorder()
    room_c = carol.room("conv-1")
    # Subscriptions last as long as they are held.
    subscriptions = [room_c.subscribe(c), room_c.on_append(Pieces(c))]
    await room_c.join(None)
    # The next piece makes the late joiner fetch the opening message with the text so far.
    await writer.append("b20 ")
    await c.until(lambda r: len(r.messages("assistant.reply")) == 1)
    [opening] = c.messages("assistant.reply")
    assert opening.stream.text == "".join(f"a{i} " for i in range(20)) + "b20 "
    assert opening.stream.state == SS.OPEN

    # carol cancels; the writer's next piece is refused, and every reader sees the end.
    await room_c.cancel_stream(writer.id())
    try:
        await writer.append("more")
        raise AssertionError("appended after a cancel")
    except roomcast.RoomcastError as e:
        assert "ended" in str(e)
    await c.until(lambda r: view(r, writer.id())[1] is not None)
    assert view(c, writer.id())[1] == SS.CANCELLED
    page = await room_b.history(2, 1)
    [reply] = page.messages
    assert reply.stream.state == SS.CANCELLED
    assert reply.stream.text == opening.stream.text
    for subscription in subscriptions:
        subscription.cancel()
