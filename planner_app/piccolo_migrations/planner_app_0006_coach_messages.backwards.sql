alter policy chat_message_owner_update on public.chat_message
  using ((select auth.uid()) = user_id)
  with check ((select auth.uid()) = user_id);
alter policy chat_message_owner_insert on public.chat_message
  with check ((select auth.uid()) = user_id);
